"""The cloud side of the recipe: endpoints, upload, registration, and the sandbox cloud."""
