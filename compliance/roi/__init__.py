"""What the mail earns: conversions, touchpoints and costs imported, the touches before each
conversion, the five attribution models, and the per-campaign ROI report."""
