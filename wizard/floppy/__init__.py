"""The floppy ramdisk step: the blank image, the Windows-side checklist, the verifier.

The memdisk recipe boots a 1.44 MB floppy image whose NT boot sector loads
NTLDR, which reads BOOT.INI and starts Windows from the disk image (see
BUNDLE-FORMAT.md section 6). Everything here runs headless: no Textual, no
root, no mounting.
"""
