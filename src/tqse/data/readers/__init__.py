"""Dataset readers: each turns one public dataset's on-disk format into a clip manifest (JSONL).

Readers only produce candidate rows; :func:`tqse.data.readers.common.build_manifest` checks the files
(in parallel, resumably, counting skips) and writes the manifest.
"""

from tqse.data.readers.audiocaps import audiocaps_candidates
from tqse.data.readers.audiosep_json import audiosep_json_candidates
from tqse.data.readers.clotho import clotho_candidates
from tqse.data.readers.common import BuildReport, build_manifest
from tqse.data.readers.folder import folder_candidates
from tqse.data.readers.vggsound import read_audioset_ids, vggsound_candidates

__all__ = ["BuildReport", "build_manifest", "audiocaps_candidates", "clotho_candidates",
           "vggsound_candidates", "read_audioset_ids", "folder_candidates", "audiosep_json_candidates"]
