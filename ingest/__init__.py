"""Ingestion: parse, chunk, encode with the model, store in Chroma."""
