"""The durable engine: one Temporal workflow per task, activities for all I/O."""
