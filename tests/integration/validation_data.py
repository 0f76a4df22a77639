"""Seeded multi-centre validation data: a dataset CSV and a model's predictions CSV where each
centre has its own prevalence, score separation (so AUCs differ) and grade mix."""
import csv
import math
import os

import numpy


def write_demo_validation(folder, seed=11, centres=(("centre-a", 150, 0.35, 2.2), ("centre-b", 120, 0.25, 1.4),
                                                      ("centre-c", 90, 0.45, 0.9))):
    """Returns (dataset_csv, predictions_csv). Each centre: (name, slides, prevalence, separation)."""
    rng = numpy.random.default_rng(seed)
    dataset_path = os.path.join(folder, "dataset.csv")
    predictions_path = os.path.join(folder, "predictions.csv")
    with open(dataset_path, "w", newline="") as d, open(predictions_path, "w", newline="") as p:
        dw = csv.writer(d)
        pw = csv.writer(p)
        dw.writerow(["slide_id", "centre", "patient_id", "label", "isup_grade", "scanner", "specimen", "exclude_reason"])
        pw.writerow(["slide_id", "score", "isup_pred"])
        for name, n, prevalence, separation in centres:
            for i in range(n):
                slide = "%s-s%04d" % (name, i)
                patient = "%s-p%03d" % (name, i // 2)  # two slides per patient
                label = int(rng.random() < prevalence)
                grade = int(rng.integers(1, 6)) if label else 0
                exclude = "poor staining" if rng.random() < 0.03 else ""
                dw.writerow([slide, name, patient, label, grade, "scanner-" + name[-1], "biopsy", exclude])
                if rng.random() < 0.02:
                    continue  # inference failed for this slide
                logit = rng.normal(separation * (label - 0.5), 1.0)
                score = round(1 / (1 + math.exp(-logit)), 6)
                predicted_grade = min(5, max(0, grade + int(rng.integers(-1, 2)))) if label else int(rng.random() < 0.1)
                pw.writerow([slide, score, predicted_grade])
    return dataset_path, predictions_path
