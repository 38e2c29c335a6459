"""Page panels, each with the page it serves (draw/, inside/); the sidebar and uncertainty panels serve several."""
