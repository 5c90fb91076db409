"""Pure-numpy motion core: skeletons, kinematics, BVH, bone roles, LMA features and motion edits."""
