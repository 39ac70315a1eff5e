"""Phone systems (CTI): signed call events in, one call entry per call in the timeline."""
