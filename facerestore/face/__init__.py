"""Faces: detection, 68 landmarks, alignment, paste-back and priors."""
