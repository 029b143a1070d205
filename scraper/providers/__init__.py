"""Source providers behind one protocol (`base.Provider`); the Madara family is the one built in."""
