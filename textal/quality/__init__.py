"""Quality of labels and models: calibration, agreement between annotators, the label review, annotator quality,
stopping rules.
"""
