"""The collector settings of the long-running processes."""
import gc

from mobsrc.core.collector import THRESHOLDS, tune_for_batches


def test_start_up_objects_are_frozen_and_young_collections_are_rarer():
    before = gc.get_threshold()
    try:
        tune_for_batches()
        assert gc.get_threshold() == THRESHOLDS and THRESHOLDS[0] > before[0]
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
