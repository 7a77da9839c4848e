"""Every service LearnFlow has: a new one is a package with a declaration, listed here once."""

from __future__ import annotations

from learnflow.services.concepts.declaration import SERVICE as CONCEPTS
from learnflow.services.debug.declaration import SERVICE as DEBUG
from learnflow.services.declare import Catalog
from learnflow.services.exercise.declaration import SERVICE as EXERCISE
from learnflow.services.runner.declaration import SERVICE as RUNNER
from learnflow.services.triage.declaration import SERVICE as TRIAGE

CATALOG = Catalog([TRIAGE, CONCEPTS, DEBUG, EXERCISE, RUNNER])
