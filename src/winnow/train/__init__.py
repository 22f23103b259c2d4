"""Training inference-free document encoders by distillation (needs the ``train`` extra).

The data flow: :mod:`~winnow.train.pseudo` makes queries from the corpus when there are no
judgements; :mod:`~winnow.train.teachers` runs any winnow retrievers, pipelines and
cross-encoders on them and fuses their normalised scores; :mod:`~winnow.train.candidates` turns
the ensemble's ranking into positives and filtered negatives; :mod:`~winnow.train.distill` fits
the student of :mod:`~winnow.train.student` under the IDF-aware FLOPS penalty of
:mod:`~winnow.train.losses`, in the loop of :mod:`~winnow.train.trainer`; and
:mod:`~winnow.train.export` saves a folder that winnow, OpenSearch and sentence-transformers load.
:mod:`~winnow.train.cross_encoder` fine-tunes a cross-encoder teacher.
"""
