"""Built-in stopword lists."""

# Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET (used by Anserini/Pyserini BM25 baselines).
LUCENE_ENGLISH = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with".split()
)

STOPWORDS: dict[str, frozenset[str]] = {"lucene": LUCENE_ENGLISH, "english": LUCENE_ENGLISH, "none": frozenset()}
