"""Check synthesis.bvh against Blender's own BVH importer (io_anim_bvh).

Both must place every joint at the same world position on every frame: for files read by
``read_bvh`` and for files written by ``write_bvh``. This pins the conventions that plain
numpy tests cannot: Euler channel order, position channels replacing ``OFFSET``, and the
root ``OFFSET``.
"""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np
import pytest

from synthesis.bvh import read_bvh, write_bvh
from synthesis.skeleton import Motion

MIXED_ORDERS = """HIERARCHY
ROOT Hips
{
  OFFSET 2.0 90.0 -3.0
  CHANNELS 6 Xposition Yposition Zposition Yrotation Xrotation Zrotation
  JOINT Spine
  {
    OFFSET 0.0 10.0 1.0
    CHANNELS 3 Xrotation Yrotation Zrotation
    JOINT Head
    {
      OFFSET 0.0 30.0 0.0
      CHANNELS 6 Zrotation Xposition Yposition Zposition Xrotation Yrotation
      End Site
      {
        OFFSET 0.0 10.0 0.0
      }
    }
  }
  JOINT LeftUpLeg
  {
    OFFSET 8.0 -5.0 0.0
    CHANNELS 3 Zrotation Yrotation Xrotation
    JOINT LeftLeg
    {
      OFFSET 0.0 -40.0 0.0
      CHANNELS 3 Yrotation Zrotation Xrotation
      End Site
      {
        OFFSET 0.0 -40.0 5.0
      }
    }
  }
}
MOTION
Frames: 4
Frame Time: 0.00833333
1 91 -2 10 20 30 5 -10 15 40 0.5 31 1 -20 25 -30 45 60 70 -80 10
2 92 -1 -170 80 45 90 45 -45 0 0 30 0 0 0 0 0 0 0 0 0
3 91 0 100 -60 -120 15 25 35 -90 0 29 0 90 45 170 -170 80 30 60 -45
4 90 1 5 5 5 -5 -5 -5 5 1 32 -1 5 5 5 5 5 5 5 5
"""


def blender_positions(path: Path, names: tuple[str, ...], frames: int) -> np.ndarray:
    """Import ``path`` with Blender's BVH importer and return head positions ``(frames, joints, 3)``."""
    import addon_utils  # Blender's module, importable only once bpy is loaded

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable("io_anim_bvh", default_set=True)
    # Forward Y and up Z make the importer's axis conversion the identity, so the
    # positions stay in the file's own Y-up frame.
    result = bpy.ops.import_anim.bvh(
        filepath=str(path),
        target="ARMATURE",
        global_scale=1.0,
        frame_start=1,
        use_fps_scale=False,
        rotate_mode="NATIVE",
        axis_forward="Y",
        axis_up="Z",
    )
    assert result == {"FINISHED"}, f"Blender failed to import {path}"
    armature = next(obj for obj in bpy.context.scene.objects if obj.type == "ARMATURE")
    positions = np.zeros((frames, len(names), 3))
    for frame in range(frames):
        bpy.context.scene.frame_set(frame + 1)
        for joint, name in enumerate(names):
            positions[frame, joint] = armature.matrix_world @ armature.pose.bones[name].head
    return positions


def first_frames(motion: Motion, count: int) -> Motion:
    translations = None if motion.translations is None else motion.translations[:count]
    return Motion(
        motion.skeleton, motion.rotations[:count], motion.root_positions[:count], motion.frame_rate, translations
    )


def test_reader_matches_blender(tmp_path):
    path = tmp_path / "mixed.bvh"
    path.write_text(MIXED_ORDERS)
    motion = read_bvh(path)
    expected = blender_positions(path, motion.skeleton.names, motion.frame_count)
    assert np.allclose(motion.positions(), expected, atol=1e-4)


@pytest.mark.parametrize("order", ["ZXY", "XYZ", "YZX"])
def test_writer_matches_blender(tmp_path, order):
    source = tmp_path / "mixed.bvh"
    source.write_text(MIXED_ORDERS)
    motion = read_bvh(source)
    written = tmp_path / f"written_{order}.bvh"
    write_bvh(motion, written, rotation_order=order)
    expected = blender_positions(written, motion.skeleton.names, motion.frame_count)
    assert np.allclose(motion.positions(), expected, atol=1e-4)


def test_bandai_clip_matches_blender(tmp_path, bandai1_dir):
    path = bandai1_dir / "data" / "dataset-1_walk_happy_001.bvh"
    motion = first_frames(read_bvh(path), 20)
    height = np.ptp(motion.positions()[0], axis=0).max()
    expected = blender_positions(path, motion.skeleton.names, motion.frame_count)
    assert np.abs(motion.positions() - expected).max() < 1e-5 * height

    written = tmp_path / "walk_happy.bvh"
    write_bvh(motion, written)
    expected = blender_positions(written, motion.skeleton.names, motion.frame_count)
    assert np.abs(motion.positions() - expected).max() < 1e-5 * height
