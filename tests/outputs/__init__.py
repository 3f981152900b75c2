"""Outputs: map, report, workbook, charts, the output folder, publishing, safe text."""
