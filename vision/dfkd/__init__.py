"""Data-free knowledge distillation: synthesizers (``synthesize()`` / ``sample()``), the KD loop
and the generator-based methods (DAFL, RDSKD, DFAD, ZSKT) as presets."""

from vision.dfkd.generator import Generator, GeneratorSynthesizer
from vision.dfkd.loop import DataFreeKD, KDHistory, KDLoopConfig
from vision.dfkd.methods import DFKD_METHODS, Method
from vision.dfkd.objectives import GeneratorObjective
from vision.dfkd.synthesizer import SynthesisReport, Synthesizer

__all__ = ["DFKD_METHODS", "DataFreeKD", "Generator", "GeneratorObjective", "GeneratorSynthesizer", "KDHistory",
           "KDLoopConfig", "Method", "SynthesisReport", "Synthesizer"]
