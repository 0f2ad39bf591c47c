import json

from filterforge.evaluation.baseline_rows import methods_for


def _data_dir(tmp_path, train_articles):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "train.jsonl").write_text("".join(json.dumps({"id": str(i)}) + "\n" for i in range(train_articles)))
    return tmp_path


def test_small_data_adds_the_embedding_probe(tmp_path):
    from filterforge.training.config import SMALL_DATA_TRAIN_ARTICLES

    assert "embedding-probe" in methods_for(_data_dir(tmp_path / "small", 132))
    large = methods_for(_data_dir(tmp_path / "large", SMALL_DATA_TRAIN_ARTICLES + 1))
    assert "embedding-probe" not in large and {"mean", "tfidf-ridge"} <= set(large)
