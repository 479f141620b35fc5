"""The docs site's link rewriting (tools/docs_site.py): links that leave docs/ say where the file is; broken ones stay
broken so that `mkdocs build --strict` fails on them."""

from __future__ import annotations

from tools import docs_site


def test_a_docs_page_is_linked_and_a_repository_file_becomes_its_path():
    assert docs_site.rewrite_link("../cost.md#prices", "platform/teams.md") == ("link", "../cost.md#prices")
    assert docs_site.rewrite_link("../modules/serving/README.md", "cost.md") == ("code", "modules/serving/README.md")
    assert docs_site.rewrite_link("../tools/capacity_report.py", "capacity.md") == ("code", "tools/capacity_report.py")
    assert docs_site.rewrite_link("../../tools/cost.py", "platform/aws.md") == ("code", "tools/cost.py")


def test_a_missing_file_and_external_links_are_left_alone():
    assert docs_site.rewrite_link("../tools/no_such_file.py", "capacity.md") == ("keep", None)
    assert docs_site.rewrite_link("no-such-page.md", "capacity.md") == ("link", "no-such-page.md")
    for external in ("https://example.com/x", "#anchor", "mailto:a@b.c"):
        assert docs_site.rewrite_link(external, "cost.md") == ("keep", None)


def test_markdown_is_rewritten_outside_code_blocks_only():
    md = "See [the table](../tools/prices/aws-prices-us-east-1.md).\n```\n[x](../tools/cost.py)\n```\n"
    out = docs_site.rewrite_markdown(md, "cost.md")
    assert "See the table (`tools/prices/aws-prices-us-east-1.md`)." in out
    assert "[x](../tools/cost.py)" in out
    assert docs_site.rewrite_markdown("[`tools/cost.py`](../tools/cost.py)", "cost.md") == "`tools/cost.py`"
