"""The API's endpoints, a flask-smorest blueprint per resource (and ``dispute_body``: a dispute
as the endpoints that answer with one show it).

Each declares its arguments with a schema instance, ``@blp.arguments(DisputeIn())``, not the
class: webargs builds a schema given as a class anew on every request (some 300 function calls
of a filing), and a marshmallow schema keeps nothing between loads, so one instance serves all.
"""
