"""The translators (DESIGN §5): Gemini's, their prompt, config and dictionaries, and the offline ones."""
