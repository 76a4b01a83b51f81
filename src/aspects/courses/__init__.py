"""Course structure: OLX exports and the LMS Course Blocks API into dimension tables."""
