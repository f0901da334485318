//! TODO(bureau): verified ingest of evidence records.
