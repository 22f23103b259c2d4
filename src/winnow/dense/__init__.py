"""Dense retrieval: bi-encoders with every pooling, an exact and an HNSW vector index, a retriever."""
