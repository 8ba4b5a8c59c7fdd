"""Song et al. (IJCV 2019): FSGN (§3.1) and the exemplar-based detail enhancement (§3.2, Algorithm 1).

:mod:`.method` holds the two methods (``fsgn``, ``song``); :mod:`.detail_enhancement` the enhancement itself,
built on the patch search and ridge regression (:mod:`.exemplar`, CPU kernels in :mod:`.exemplar_search`), the
guided filter (:mod:`.guided_filter`) and the banks of exemplar faces (:mod:`.exemplar_bank`).
"""
from facerestore.methods.song.detail_enhancement import DetailEnhancementConfig, DetailEnhancementResult, enhance_details
from facerestore.methods.song.exemplar_bank import ExemplarBank
from facerestore.methods.song.method import FSGNMethod, SongMethod

__all__ = ["DetailEnhancementConfig", "DetailEnhancementResult", "ExemplarBank", "FSGNMethod", "SongMethod",
           "enhance_details"]
