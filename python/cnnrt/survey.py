"""The survey's Table 1 (ImageNet top-1/top-5 error and parameters as printed), row by row.

Source: the survey that started the project (../shared/000_4df1611b1649ad1d.txt, Table 1),
which quotes each architecture's own paper. `zoo` names the cnnrt builder that reproduces it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SurveyRow:
    network: str
    zoo: str              # cnnrt.models builder name
    top1_err: float       # percent, as printed in the survey
    top5_err: float
    params_printed: str   # as printed ("60M")
    paper: str            # where the survey's figures come from
    note: str = ""


TABLE1 = [
    SurveyRow("AlexNet", "alexnet", 39.00, 17.0, "60M", "Krizhevsky et al. 2012"),
    SurveyRow("ZF Net", "zfnet", 37.50, 16.0, "60M", "Zeiler & Fergus 2013",
              note="the 2013 paper's layout has ~62M parameters"),
    SurveyRow("VGG19", "vgg19", 25.60, 8.10, "144M", "Simonyan & Zisserman 2014"),
    SurveyRow("GoogLeNet", "googlenet", 29.00, 9.20, "5M", "Szegedy et al. 2014",
              note="the survey prints the paper's '12x fewer than AlexNet' (~5M); the BVLC "
                   "model as built (no auxiliary heads) has 7.0M"),
    SurveyRow("ResNet-152", "resnet152", 19.38, 4.49, "60M", "He et al. 2015"),
    SurveyRow("EfficientNet-B7", "efficientnet_b7", 15.6, 2.9, "66M", "Tan & Le 2019"),
    SurveyRow("Meta Pseudo Labels (EfficientNet-L2)", "efficientnet_l2", 9.8, 1.2, "480M",
              "Pham et al. 2021", note="opt-in: ~1.9 GB of weights at 800x800"),
]

BY_ZOO = {r.zoo: r for r in TABLE1}
