from medtrust.cli import main

main()
