"""The paper's experiments, one module each, as measurements that return numbers.

=====================================  =================================  ===================================
module                                 paper                              chapter
=====================================  =================================  ===================================
:mod:`symgan.studies.discriminator`    Fig. 6 (section 2.1.3): a plain    ``book/05_symmetric_discriminator``
                                       discriminator memorises its
                                       training images but not their
                                       mirrors
:mod:`symgan.studies.yaw`              the "virtual yaw" of Figs. 9 and   ``book/06_loss_baselines_and_faces``
                                       13, read off generated faces by    (and ``book/08_face_rotation``)
                                       a regressor trained on SynthFaces
:mod:`symgan.studies.bedrooms`         section 4.2, Figs. 11 and 14:      ``book/07_lsun_bedrooms``
                                       what each coordinate of ``z'``
                                       does to a room
:mod:`symgan.studies.rotation`         section 3, Figs. 12 and 13: does   ``book/08_face_rotation``
                                       FitAndTune keep the identity
                                       while it rotates a face?
=====================================  =================================  ===================================

The models they measure are in :mod:`symgan.generators` and :mod:`symgan.discriminators`, the
series of symmetry amounts (Figs. 9, 10 and Supplementary Fig. 7) in :mod:`symgan.metrics`, and
the figures drawn from these numbers in :mod:`symgan.plots`. Nothing is imported here, so that
importing one study does not import the others (the rotation study pulls in FitAndTune).
"""
