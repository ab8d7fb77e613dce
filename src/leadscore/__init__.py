"""leadscore: open, explainable lead scoring."""
