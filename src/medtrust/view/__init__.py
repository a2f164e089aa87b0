"""`medtrust view`: a local web app over a runs folder."""
