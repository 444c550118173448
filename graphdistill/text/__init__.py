"""Embedding-space text distillation (Sucholutsky & Schonlau, IJCNN 2021) on a word-piece model.

* :mod:`.data` — class-folder / CSV / Parquet corpora, the registered BBC News corpus, the split;
* :mod:`.embeddings` — a tokenizer and its embedding matrix read offline from a model folder;
* :mod:`.learners` — TextCNN, mean-pool MLP and Transformer learners on (batch, length, dim) inputs;
* :mod:`.distill` — distilled sequences with soft labels; meta, gradient and distribution objectives;
* :mod:`.evaluate` — fresh learners trained on a set and tested on real text;
* :mod:`.run` — run folders (``graphdistill condense bbc --method text-dd --per-class 1``).
"""
