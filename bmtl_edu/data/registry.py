"""Specifications of the datasets the book uses: ``DatasetSpec`` and the registry ``DATASETS``.

The registry is the single place that knows each dataset's tasks, sizes, classes, input
dimension, where its real files come from and which command fetches them. Loaders, stand-in
generators and ``data_scripts/`` all read it; nothing else repeats these numbers.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RawFile:
    """One public raw file under the data root.

    Attributes:
        path: path relative to the data root (layout of ``../shared/data``), e.g. ``sarcos/sarcos_inv.mat``.
        sha256: hex digest when it is known (``None``: only shapes can be checked).
        size: size in bytes when known.
        url: direct download address, or ``None`` when the source needs a manual step.
        note: one line on what the file is.
    """

    path: str
    sha256: str | None = None
    size: int | None = None
    url: str | None = None
    note: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    """What a multi-task dataset looks like when complete.

    Attributes:
        name: registry key (``load_dataset(name)``).
        title: human-readable name.
        task_names: one name per task, in the package's task order.
        task_sizes: samples per task of the full dataset (for SARCOS: the 2,000 sampled points).
        n_classes: classes shared by all tasks, ``None`` for regression.
        in_dim: input dimension (4096 for VGG-19 fc7 features).
        kind: ``"classification"`` or ``"regression"``.
        in_paper: whether Liang & Zhang (2020) use it (Office-Caltech-10 is the book's extra, offline problem).
        shared_inputs: all tasks see the same inputs (SARCOS).
        features: what the inputs are.
        homepage: where a person gets the raw data.
        raw_files: public raw files the loader can read directly (may be empty).
        fetch_command: the command(s) that produce what the loader needs.
        manual_step: what a person must do by hand when there is no direct download (empty if none).
    """

    name: str
    title: str
    task_names: tuple[str, ...]
    task_sizes: tuple[int, ...]
    n_classes: int | None
    in_dim: int
    kind: str
    in_paper: bool
    shared_inputs: bool = False
    features: str = ""
    homepage: str = ""
    raw_files: tuple[RawFile, ...] = field(default_factory=tuple)
    fetch_command: str = ""
    manual_step: str = ""

    @property
    def n_tasks(self) -> int:
        return len(self.task_names)

    @property
    def n_samples(self) -> int:
        return int(sum(self.task_sizes)) if not self.shared_inputs else int(self.task_sizes[0])


# SARCOS: the paper samples 2,000 of the 44,484 training rows; the seed below is the book's
# documented choice (the paper does not give one).
SARCOS_N_POINTS = 2000
SARCOS_SAMPLE_SEED = 0
SARCOS_TRAIN = RawFile(
    "sarcos/sarcos_inv.mat",
    sha256="b8a249733253ba6097372fedee7696833fcf30de42037d5b4a7227f21a6d1d97", size=9_964_616,
    url="http://www.gaussianprocess.org/gpml/data/sarcos_inv.mat",
    note="GPML SARCOS inverse dynamics, training split (44,484 x 28); the paper's source")
SARCOS_TEST = RawFile(
    "sarcos/sarcos_inv_test.mat",
    sha256="161a59b5c3b4f4b404584323f181607b2acbe620eb134dc720760dc3f38f5cec", size=996_776,
    url="http://www.gaussianprocess.org/gpml/data/sarcos_inv_test.mat",
    note="GPML SARCOS inverse dynamics, test split (4,449 x 28); the offline substitute")

OFFICE_CALTECH10_FILES = (
    RawFile("office_caltech10/amazon_SURF_L10.mat",
            sha256="df32548b994e18d364c99e1f317e1fae100597259f0423a41b90f4f68187bb1f"),
    RawFile("office_caltech10/Caltech10_SURF_L10.mat",
            sha256="4f9334c8ced489d5054de97a5fd51a61f017f3bcd1f38c9a85c6d78cb9d7bda5"),
    RawFile("office_caltech10/dslr_SURF_L10.mat",
            sha256="44d673c68e1d07b837893aa74dba3b986e4a6cc3fd66f0dd357683bdef059216"),
    RawFile("office_caltech10/webcam_SURF_L10.mat",
            sha256="a6a9c78b4b7181dfbb58bcfd351d4ebd737f171c31247b8884948aa156d3f700"),
)

# fc7 .mat files in the layout of ../shared/data/office31/ (<domain>_<domain>_fc7.mat); only the
# DSLR one has a known digest. These are AlexNet fc7, not the paper's VGG-19 (see import script).
OFFICE31_FC7_FILES = (
    RawFile("office31/amazon_amazon_fc7.mat"),
    RawFile("office31/dslr_dslr_fc7.mat",
            sha256="407769962e3d1b12692639cc049ebe95665e55b51f7d6f3027c4069ce069e0df"),
    RawFile("office31/webcam_webcam_fc7.mat"),
)

_FC7 = "VGG-19 (ImageNet) fc7 after ReLU, 4096-d, non-negative"

DATASETS: dict[str, DatasetSpec] = {
    "office31": DatasetSpec(
        name="office31", title="Office-31",
        task_names=("amazon", "dslr", "webcam"), task_sizes=(2817, 498, 795),
        n_classes=31, in_dim=4096, kind="classification", in_paper=True, features=_FC7,
        homepage="https://github.com/jindongwang/transferlearning/blob/master/data/readme.md",
        fetch_command=("python data_scripts/download.py office31 && "
                       "python data_scripts/extract_features.py office31"),
        manual_step=("Office-31 images (domain_adaptation_images.tar.gz) are distributed through "
                     "Google Drive / MEGA / Jianguoyun links (see the homepage); download the archive by hand, then run "
                     "`python data_scripts/download.py office31 --archive PATH`.")),
    "officehome": DatasetSpec(
        name="officehome", title="Office-Home",
        task_names=("art", "clipart", "product", "real_world"), task_sizes=(2427, 4365, 4439, 4357),
        n_classes=65, in_dim=4096, kind="classification", in_paper=True, features=_FC7,
        homepage="http://hemanthdv.org/OfficeHome-Dataset/",
        fetch_command=("python data_scripts/download.py officehome && "
                       "python data_scripts/extract_features.py officehome"),
        manual_step=("Office-Home (OfficeHomeDataset_10072016.zip) needs accepting the terms on its "
                     "homepage; download it by hand, then run "
                     "`python data_scripts/download.py officehome --archive PATH`.")),
    "imageclef": DatasetSpec(
        name="imageclef", title="ImageCLEF-DA",
        task_names=("caltech", "imagenet", "pascal", "bing"), task_sizes=(600, 600, 600, 600),
        n_classes=12, in_dim=4096, kind="classification", in_paper=True, features=_FC7,
        homepage="https://www.imageclef.org/2014/adaptation",
        fetch_command=("python data_scripts/download.py imageclef && "
                       "python data_scripts/extract_features.py imageclef"),
        manual_step=("ImageCLEF-DA (image_CLEF.zip) is distributed through the challenge page and "
                     "mirrors (e.g. the MEGA / Baidu links in jindongwang/transferlearning data/readme.md); "
                     "download it by hand, then run `python data_scripts/download.py imageclef --archive PATH`.")),
    "sarcos": DatasetSpec(
        name="sarcos", title="SARCOS inverse dynamics",
        task_names=tuple(f"joint{j}" for j in range(1, 8)), task_sizes=(SARCOS_N_POINTS,) * 7,
        n_classes=None, in_dim=21, kind="regression", in_paper=True, shared_inputs=True,
        features="7 joint positions, 7 velocities, 7 accelerations; targets: 7 joint torques",
        homepage="http://www.gaussianprocess.org/gpml/data/",
        raw_files=(SARCOS_TRAIN, SARCOS_TEST),
        fetch_command="python data_scripts/download.py sarcos && python data_scripts/prepare_sarcos.py"),
    "office_caltech10": DatasetSpec(
        name="office_caltech10", title="Office-Caltech-10 (SURF)",
        task_names=("amazon", "caltech10", "dslr", "webcam"), task_sizes=(958, 1123, 157, 295),
        n_classes=10, in_dim=800, kind="classification", in_paper=False,
        features="800-bin SURF bag of visual words (GFK release); not used by the paper",
        homepage="https://github.com/jindongwang/transferlearning/tree/master/data",
        raw_files=OFFICE_CALTECH10_FILES,
        fetch_command="python data_scripts/download.py office_caltech10",
        manual_step=("The SURF .mat files (4 files, 0.3 MB) are on MEGA / Jianguoyun links listed in "
                     "jindongwang/transferlearning data/readme.md; save them as "
                     "<BMTL_DATA>/office_caltech10/<domain>_SURF_L10.mat.")),
}


def get_spec(name: str) -> DatasetSpec:
    """The registry entry ``name``.

    Raises:
        KeyError: for an unknown name, listing the valid ones.
    """
    if not isinstance(name, str) or name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; valid names: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]
