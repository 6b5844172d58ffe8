"""Fitting synthetic populations to real marginals: IPF, reweighting, integerisation,
population synthesis. Shipped marginal tables live in ``calibration/data`` (see
``SOURCES.md`` there for their sources and the tidy CSV format)."""

from calibration.integerise import integerise
from calibration.ipf import IPFResult, Marginal, ipf, ipf_frame
from calibration.reweight import Control, ReweightResult, controls_from_frame, reweight
from calibration.synthesis import Synthesis, attach_identities, synthesise

__all__ = [
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
    "reweight",
    "synthesise",
]
