"""A model's life after `pulumi up`: its phase on the live cluster (`status`) and what it served over time from
the stack file's git history (`history`)."""
