"""Pure computation: landmark series -> angles -> ROM -> quality verdict.

No video, no files, no printing; imports nothing from the other wings.
"""
