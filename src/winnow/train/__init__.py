"""Training inference-free document encoders by distillation (needs the ``torch`` extra).

The data flow: :mod:`~winnow.train.candidates` mines candidate documents for each training
query with BM25, :mod:`~winnow.train.teachers` scores them with a dense and a sparse siamese
model and fuses the normalised scores, and :mod:`~winnow.train.distill` fits the document
encoder to that ensemble under the IDF-aware FLOPS penalty of :mod:`~winnow.train.losses`.
"""
