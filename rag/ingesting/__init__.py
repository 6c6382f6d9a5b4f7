"""The ingest stage in parts, each its own module:

* ``detect.py`` -- the file's kind from its extension, confirmed by its content;
* ``text_reader.py``, ``docx_reader.py``, ``pdf_reader.py`` -- TXT/Markdown, DOCX and PDF to lines of the plain
  layout (``layout.py``: its patterns and the shared clean-up); a PDF's pages are read as positioned lines with
  their edges cleaned in ``pdf_lines.py`` and assembled, tables rebuilt, in ``pdf_layout.py``;
* ``convert.py`` -- bytes to the ``Converted`` text of the corpus file, through the above;
* ``naming.py`` -- a new document's title and id; ``manifest.py`` -- manifest.json under a lock, written atomically;
* ``add_remove.py`` -- adding a document to the corpus and removing one; ``errors.py`` -- ``IngestError``.
``rag/ingest.py`` re-exports their public names.
"""
