"""The Django-free page pipeline: load, detect, read, group, translate, erase, letter, report."""
