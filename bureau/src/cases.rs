//! TODO(bureau): inspections, reviews, tasks, reference data.
