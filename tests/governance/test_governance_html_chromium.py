"""The HTML papers in Chromium: they render, nothing overflows the page width, and they print to PDF."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NO_CHROMIUM = "Chromium is missing (make test installs Debian's chromium); the printable pages cannot be checked"
# Appended to a copy of the page: after layout, record on <body> whether anything is wider than the viewport.
LAYOUT_PROBE = """<script>
window.addEventListener('load', () => {
  const wide = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1);
  document.body.setAttribute('data-overflow', String(wide.length));
  document.body.setAttribute('data-sections', String(document.querySelectorAll('section').length));
});
</script>"""


def _chromium(*args: str) -> subprocess.CompletedProcess:
    if not shutil.which(CHROMIUM):
        pytest.fail(NO_CHROMIUM)
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=800,1000", *args],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def papers_dir(tmp_path_factory, gated_champion):
    from mlflow import MlflowClient

    from governance.facts import read_facts
    from governance.papers import write_papers

    out = tmp_path_factory.mktemp("papers")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in gated_champion.store_env.items():
            patch.setenv(name, value)
        write_papers(read_facts(MlflowClient()), out)
    return out


@pytest.mark.parametrize("slug", ["atrs", "eia", "dpia"])
def test_governance_html_renders_without_overflow_and_prints(papers_dir, slug, tmp_path):
    probe = tmp_path / f"{slug}.html"
    probe.write_text((papers_dir / f"{slug}.html").read_text().replace("</body>", LAYOUT_PROBE + "</body>"))
    dom = _chromium("--dump-dom", probe.as_uri())
    assert dom.returncode == 0, dom.stderr
    overflow = re.search(r'data-overflow="(\d+)"', dom.stdout)
    sections = re.search(r'data-sections="(\d+)"', dom.stdout)
    assert overflow and sections, "the page did not finish loading in Chromium"
    assert overflow.group(1) == "0", "some element is wider than an 800px viewport"
    assert int(sections.group(1)) >= 3
    pdf = tmp_path / f"{slug}.pdf"
    printed = _chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", (papers_dir / f"{slug}.html").as_uri())
    assert printed.returncode == 0 and pdf.is_file(), printed.stderr
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 1
