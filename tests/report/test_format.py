

def test_json_for_script_survives_hostile_strings():
    import json

    from medtrust.report.format import json_for_script
    hostile = {"a": "<!--<script>alert(1)</script>", "b": "</script><script>x()</script>", "c": "& \u2028 \u2029 >",
               "<key>": ["<!--", "-->", "]]>"]}
    text = json_for_script(hostile)
    assert json.loads(text) == hostile
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
