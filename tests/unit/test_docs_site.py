"""The docs site's link rewriting (tools/docs_site.py): links that leave docs/ work in the site or say where the file is."""

from __future__ import annotations

from tools import docs_site


def test_a_layer_readme_is_a_page_and_links_to_it_follow():
    assert "serving" in docs_site.layer_readmes()
    assert docs_site.rewrite_link("../modules/serving/README.md#metrics", "cost.md") == ("link", "layers/serving.md#metrics")
    assert docs_site.rewrite_link("../../modules/team/README.md", "platform/teams.md") == ("link", "../layers/team.md")
    # From a layer page (modules/serving/README.md in the repository) to a docs page and to a sibling layer.
    assert docs_site.rewrite_link("../../docs/cost.md", "layers/serving.md") == ("link", "../cost.md")
    assert docs_site.rewrite_link("../kubernetes/README.md", "layers/serving.md") == ("link", "kubernetes.md")


def test_a_repository_file_becomes_its_path_and_a_missing_one_is_left_for_strict_mode():
    assert docs_site.rewrite_link("../tools/capacity_report.py", "capacity.md") == ("code", "tools/capacity_report.py")
    assert docs_site.rewrite_link("metrics.py", "layers/serving.md") == ("code", "modules/serving/metrics.py")
    assert docs_site.rewrite_link("../tools/no_such_file.py", "capacity.md") == ("keep", None)
    for external in ("https://example.com/x", "#anchor", "mailto:a@b.c"):
        assert docs_site.rewrite_link(external, "cost.md") == ("keep", None)


def test_markdown_is_rewritten_outside_code_blocks_only():
    md = "See [the table](../tools/prices/aws-prices-us-east-1.md).\n```\n[x](../tools/cost.py)\n```\n"
    out = docs_site.rewrite_markdown(md, "cost.md")
    assert "See the table (`tools/prices/aws-prices-us-east-1.md`)." in out
    assert "[x](../tools/cost.py)" in out
    assert docs_site.rewrite_markdown("[`tools/cost.py`](../tools/cost.py)", "cost.md") == "`tools/cost.py`"
