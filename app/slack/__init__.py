"""Slack, the inbound half: the `/klaxon` slash command, the sitrep's buttons and modal, and
the Events API (a :pushpin: adds a message to the timeline). Every request is verified
(signature.py, replay.py); every action goes through app/actions.py, the API's and the incident
page's code path. The outbound half (channel, sitrep, topic) is a worker channel."""
