"""Sample-quality metrics: FID, KID, IS, precision/recall, density/coverage, Parzen LL, nearest neighbours, modes,
PSNR/SSIM (`image_quality`)."""
