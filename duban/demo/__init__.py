"""The demo world of `duban seed_demo` (湖州市, in Chinese) and the synthetic world of `duban seed_scale`."""
