"""The API's endpoints, a flask-smorest blueprint per resource.

Each declares its arguments with a schema instance, ``@blp.arguments(DisputeIn())``, not the
class: webargs builds a schema given as a class anew on every request (some 300 function calls
of a filing), and a marshmallow schema keeps nothing between loads, so one instance serves all.
"""
