"""Fitting synthetic populations to real marginals: IPF, reweighting, integerisation,
population synthesis. Shipped marginal tables live in ``calibration/data`` (see
``SOURCES.md`` there for their sources and the tidy CSV format)."""

from calibration.controls import controls_from_frame
from calibration.integerise import integerise
from calibration.ipf import IPFResult, Marginal, ipf
from calibration.reweight import Control, ReweightResult, reweight
from calibration.synthesis import Synthesis, attach_identities, synthesise
from calibration.tables import DATA, read_marginal
from calibration.tidy_ipf import ipf_frame

__all__ = [
    "DATA",
    "Control",
    "IPFResult",
    "Marginal",
    "ReweightResult",
    "Synthesis",
    "attach_identities",
    "controls_from_frame",
    "integerise",
    "ipf",
    "ipf_frame",
    "read_marginal",
    "reweight",
    "synthesise",
]
