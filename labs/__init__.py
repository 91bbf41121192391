"""Lab schema and loader, and the catalogue of lab files (one ``<lab-id>.yaml`` each)."""

from .loader import Catalogue, LabFileError, UnknownLabError, parse_lab
from .schema import CheckRef, Lab, QuizQuestion, Step, resolve, substitute

__all__ = [
    "Catalogue", "CheckRef", "Lab", "LabFileError", "QuizQuestion", "Step", "UnknownLabError",
    "parse_lab", "resolve", "substitute",
]
