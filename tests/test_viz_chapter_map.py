"""rnnlab.viz.chapter_map: the home page's chapter map renders, says what it shows, matches the book's
chapters and the dependencies the chapters state, and the committed PNG is the one the code draws."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from conftest import ROOT, toc_pages  # noqa: E402
from rnnlab.viz import chapter_map  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_the_map_draws_every_chapter_and_appendix():
    fig = chapter_map.draw_chapter_map()
    words = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    for node in chapter_map.CHAPTERS.values():
        assert node.label in words
    for label in chapter_map.APPENDICES:
        assert label in words
    title = fig.axes[0].get_title(loc="left")
    assert "trunk" in title and "chapter 6" in title


def test_dependencies_are_the_ones_the_chapters_state():
    assert set(chapter_map.DEPENDS_ON) == {
        ("0", "1"), ("1", "2"), ("2", "3"), ("3", "4"), ("2", "5"), ("3", "6"), ("4", "6"), ("5", "6"),
        ("4", "7"),  # chapter 7 builds minGRU and minLSTM from the GRU (and the LSTM before it)
    }
    assert set(chapter_map.ALSO_USES) == {("3", "5")}  # chapter 5's layers are LSTMs
    # Every chapter is reachable from the set-up page, and an arrow always points forwards.
    reached = {"0"}
    for before, after in sorted(chapter_map.DEPENDS_ON):
        assert int(before) < int(after)
        if before in reached:
            reached.add(after)
    assert reached == set(chapter_map.CHAPTERS)


def test_the_map_lists_the_appendices_of_the_toc():
    appendices = [page for page in toc_pages()
                  if page.startswith("book/appendix_") or page in ("book/instructors", "book/references")]
    assert len(chapter_map.APPENDICES) == len(appendices)


def test_save_writes_a_png(tmp_path):
    path = chapter_map.save_chapter_map(tmp_path / "map.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = plt.imread(path)
    assert image.shape[0] > 300 and image.shape[1] > 1.5 * image.shape[0]


def test_main_writes_to_the_given_path(tmp_path, capsys):
    assert chapter_map.main([str(tmp_path / "out.png")]) == 0
    assert (tmp_path / "out.png").is_file()
    assert "wrote" in capsys.readouterr().out


def test_the_committed_figure_is_up_to_date(tmp_path):
    committed = ROOT / chapter_map.DEFAULT_OUTPUT
    redraw = "run `python -m rnnlab.viz.chapter_map` from the repository root"
    assert committed.is_file(), f"{chapter_map.DEFAULT_OUTPUT} is missing: {redraw}"
    fresh = plt.imread(chapter_map.save_chapter_map(tmp_path / "map.png"))
    stored = plt.imread(committed)
    stale = f"{chapter_map.DEFAULT_OUTPUT} is stale: {redraw}"
    assert stored.shape == fresh.shape, stale
    # Font rasterising may differ by a few grey levels between machines; a changed map moves boxes.
    assert abs(stored - fresh).mean() < 0.01, stale


@pytest.mark.parametrize("bad, message", [("map.svg", "must end in .png"),
                                          ("missing/map.png", "does not exist")])
def test_bad_paths_are_refused(tmp_path, bad, message):
    with pytest.raises(ValueError, match=message):
        chapter_map.save_chapter_map(tmp_path / bad)
